"""ComfyUI workflows in "API format": loading, validation and filling by node title.

API format is what ComfyUI's ``POST /prompt`` takes: ``{node_id: {"class_type", "inputs", "_meta"}}``.
It is exported from the ComfyUI UI with *Workflow -> Export (API)* (older versions: enable the
dev mode options in the settings, then *Save (API Format)*). The UI's own save format (with
``nodes`` and ``links``) cannot be submitted and is rejected here with that advice.

Values are set on nodes found by their title (``_meta.title``), never by node id, so a workflow
re-exported from the UI (new ids) keeps working as long as its titles stay::

    wf = fill(load_workflow("sdxl_text_to_image"), prompt="a lighthouse at dusk", seed=7,
              width=1344, height=768)
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from e3.errors import E3Error

WORKFLOW_DIR = Path(__file__).resolve().parent / "workflows"

_EXPORT_HINT = ("export it from ComfyUI with 'Workflow > Export (API)' (older versions: enable dev mode "
                "in the settings, then 'Save (API Format)')")

# field -> list of (node titles, input names tried in order). Every node whose title matches
# (case-insensitive) gets the value; a field that matches no node is an error.
_FIELDS: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "prompt": [(("positive prompt", "prompt"), ("text",)), (("music prompt",), ("tags",))],
    "negative": [(("negative prompt",), ("text",))],
    "seed": [(("seed", "ksampler", "sampler"), ("seed", "noise_seed")), (("music prompt",), ("seed",))],
    "steps": [(("ksampler", "sampler", "steps"), ("steps",))],
    "cfg": [(("ksampler", "sampler"), ("cfg",))],
    "denoise": [(("ksampler", "sampler"), ("denoise",))],
    "width": [(("latent size", "empty latent image", "image size"), ("width",))],
    "height": [(("latent size", "empty latent image", "image size"), ("height",))],
    "checkpoint": [(("checkpoint", "load checkpoint"), ("ckpt_name", "unet_name"))],
    "duration": [(("latent duration", "duration"), ("seconds",)), (("music prompt",), ("duration",))],
    "lyrics": [(("music prompt",), ("lyrics",))],
    "bpm": [(("music prompt",), ("bpm",))],
    "image": [(("load image",), ("image",))],
    "filename_prefix": [(("save image", "save audio"), ("filename_prefix",))],
}


class WorkflowError(E3Error):
    """A workflow cannot be used (bad value, unknown name)."""


class WorkflowFormatError(WorkflowError):
    """The JSON is not a ComfyUI API-format workflow, or a titled node the caller needs is missing."""


def available_workflows() -> list[str]:
    """Names of the workflows shipped with E3."""
    return sorted(p.stem for p in WORKFLOW_DIR.glob("*.json"))


def _resolve(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".json" and path.exists():
        return path
    shipped = WORKFLOW_DIR / (path.name if path.suffix == ".json" else f"{path.name}.json")
    if path.parent == Path(".") and shipped.exists():
        return shipped
    if path.exists():
        return path
    raise WorkflowError(f"workflow {str(name_or_path)!r} not found (shipped: {', '.join(available_workflows())})")


def validate_api_format(workflow: Any, source: str = "workflow") -> dict[str, Any]:
    """Check the API-format shape and links; returns the node dict. Raises WorkflowFormatError."""
    if isinstance(workflow, dict) and "prompt" in workflow and isinstance(workflow["prompt"], dict) \
            and "class_type" not in workflow["prompt"]:
        workflow = workflow["prompt"]  # a saved POST /prompt body
    if not isinstance(workflow, dict):
        raise WorkflowFormatError(f"{source} is not a JSON object of nodes; {_EXPORT_HINT}")
    if "nodes" in workflow and ("links" in workflow or isinstance(workflow.get("nodes"), list)):
        raise WorkflowFormatError(
            f"{source} is a ComfyUI UI workflow (it has 'nodes' and 'links'), not API format; {_EXPORT_HINT}")
    if not workflow:
        raise WorkflowFormatError(f"{source} has no nodes")
    for node_id, node in workflow.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str) \
                or not isinstance(node.get("inputs"), dict):
            raise WorkflowFormatError(
                f"{source}: node {node_id!r} lacks 'class_type'/'inputs', so this is not API format; {_EXPORT_HINT}")
        for name, value in node["inputs"].items():
            # A link is [source_node_id, output_index].
            if isinstance(value, list) and len(value) == 2 and isinstance(value[1], int) \
                    and isinstance(value[0], (str, int)) and str(value[0]) not in workflow:
                raise WorkflowFormatError(
                    f"{source}: node {node_id} input {name!r} links to missing node {value[0]!r}")
    return workflow


def load_workflow(name_or_path: str | Path) -> dict[str, Any]:
    """Load a shipped workflow by name (``"sdxl_text_to_image"``) or a JSON file by path.

    Raises WorkflowError when missing, WorkflowFormatError when not API format.
    """
    path = _resolve(name_or_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WorkflowFormatError(f"workflow {path} is not readable JSON: {exc}") from exc
    return validate_api_format(data, source=f"workflow {path.name}")


def title_of(node: dict[str, Any]) -> str:
    return str((node.get("_meta") or {}).get("title") or "")


def find_nodes(workflow: dict[str, Any], *titles: str) -> list[str]:
    """Ids of the nodes whose ``_meta.title`` equals one of ``titles`` (case-insensitive)."""
    wanted = {t.strip().lower() for t in titles}
    return [nid for nid, node in workflow.items() if title_of(node).strip().lower() in wanted]


def _check(field: str, value: Any) -> Any:
    if field in ("width", "height"):
        if not isinstance(value, int) or isinstance(value, bool) or value < 64 or value > 16384 or value % 8:
            raise WorkflowError(f"{field} must be a whole number of pixels, 64..16384 and a multiple of 8, not {value!r}")
    elif field in ("seed",):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFFFFFFFFFFFFFFFF:
            raise WorkflowError(f"seed must be an integer in 0..2**64-1, not {value!r}")
    elif field in ("steps", "bpm"):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise WorkflowError(f"{field} must be a positive integer, not {value!r}")
    elif field in ("duration", "cfg", "denoise"):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0 \
                or (field == "duration" and value <= 0) or (field == "denoise" and value > 1):
            raise WorkflowError(f"{field} has an invalid value {value!r}")
        return float(value)
    elif not isinstance(value, str) or (field in ("checkpoint", "image") and not value.strip()):
        raise WorkflowError(f"{field} must be a non-empty string, not {value!r}")
    return value


def fill(workflow: dict[str, Any], *, prompt: str | None = None, negative: str | None = None,
         seed: int | None = None, width: int | None = None, height: int | None = None,
         checkpoint: str | None = None, steps: int | None = None, cfg: float | None = None,
         denoise: float | None = None, duration: float | None = None, lyrics: str | None = None,
         bpm: int | None = None, image: str | None = None, filename_prefix: str | None = None,
         inputs: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """A copy of ``workflow`` with the given values set on nodes found by title.

    Titles: "Positive Prompt" (text) or "Music Prompt" (tags, lyrics, bpm, seed, duration),
    "Negative Prompt", "KSampler"/"Seed" (seed, steps, cfg, denoise), "Latent Size"/"Image Size"
    (width, height), "Checkpoint" (ckpt_name or unet_name), "Latent Duration" (seconds),
    "Load Image" (image: a name returned by ``upload_image``), "Save Image"/"Save Audio"
    (filename_prefix). ``inputs`` sets anything else: ``{"Node Title": {"input": value}}``.
    None leaves a value as it is. A value whose titled node is missing -> WorkflowFormatError.
    """
    wf = copy.deepcopy(validate_api_format(workflow))
    values = {"prompt": prompt, "negative": negative, "seed": seed, "width": width, "height": height,
              "checkpoint": checkpoint, "steps": steps, "cfg": cfg, "denoise": denoise, "duration": duration,
              "lyrics": lyrics, "bpm": bpm, "image": image, "filename_prefix": filename_prefix}
    for field, value in values.items():
        if value is None:
            continue
        value = _check(field, value)
        hits = 0
        for titles, input_names in _FIELDS[field]:
            for nid in find_nodes(wf, *titles):
                node_inputs = wf[nid]["inputs"]
                name = next((n for n in input_names if n in node_inputs), None)
                if name is None or isinstance(node_inputs[name], list):
                    continue  # titled node without this widget, or it is linked from another node
                node_inputs[name] = value
                hits += 1
        if not hits:
            want = " or ".join(f'"{t.title()}"' for titles, _ in _FIELDS[field] for t in titles)
            raise WorkflowFormatError(
                f"cannot set {field}: the workflow has no node titled {want} with a "
                f"{'/'.join(n for _, names in _FIELDS[field] for n in names)} input")
    for title, node_values in (inputs or {}).items():
        ids = find_nodes(wf, title)
        if not ids:
            raise WorkflowFormatError(f"the workflow has no node titled {title!r}")
        for nid in ids:
            wf[nid]["inputs"].update(node_values)
    return wf


def output_titles(workflow: dict[str, Any]) -> list[str]:
    """Titles of the save nodes (what a run will return)."""
    return [title_of(n) for n in workflow.values() if n["class_type"].startswith("Save")]
