"""ComfyUI client and workflows against the in-process fake server."""

from __future__ import annotations

import io
import json
import time

import pytest
from PIL import Image

from e3.errors import E3Error
from e3.comfyui.client import (ComfyUIClient, ComfyUIError, ComfyUIExecutionError, ComfyUIPromptRejected,
                                 ComfyUITimeout, ComfyUIUnreachable)
from e3.comfyui.workflow import (WorkflowError, WorkflowFormatError, available_workflows, fill, find_nodes,
                                  load_workflow)
from tests.pictures.fake_comfyui import KNOWN_CLASSES


@pytest.fixture
def client(fake):
    with ComfyUIClient(fake.url, timeout=5, poll_interval=0.2) as c:
        yield c


def t2i(**kw):
    return fill(load_workflow("sdxl_text_to_image"), **{"prompt": "a lighthouse at dusk", "seed": 5,
                                                        "width": 320, "height": 184, **kw})


def test_happy_path_returns_png_of_requested_size(fake, client):
    assert client.system_stats()["system"]["comfyui_version"] == "fake"
    progress = []
    outputs = client.run(t2i(), prompt_id="job-0001", timeout=10, on_progress=progress.append)
    assert len(outputs) == 1
    out = outputs[0]
    assert (out.kind, out.type, out.node_id) == ("images", "output", "9")
    img = Image.open(io.BytesIO(out.data))
    img.verify()
    assert (img.format, img.size) == ("PNG", (320, 184))
    assert fake.submitted == ["job-0001"]  # the client-chosen prompt id is used
    kinds = [p["type"] for p in progress]
    assert kinds[0] == "execution_start" and "progress" in kinds and kinds[-1] == "executed"
    assert any(p["type"] == "progress" and p["max"] == 30 for p in progress)
    assert client.history("job-0001")["status"]["status_str"] == "success"


def test_api_prefix_and_polling_without_websocket(fake):
    fake.ws_enabled = False
    with ComfyUIClient(fake.url + "/api", timeout=5, poll_interval=0.05) as c:
        assert c._open_ws() is None
        outputs = c.run(t2i(width=256, height=128), timeout=10)
    assert Image.open(io.BytesIO(outputs[0].data)).size == (256, 128)


def test_wait_by_another_client_uses_history(fake, client):
    pid = client.queue_prompt(t2i())
    with ComfyUIClient(fake.url, timeout=5, poll_interval=0.05) as other:  # never gets "executing null"
        entry = other.wait(pid, timeout=10)
    assert entry["outputs"]["9"]["images"][0]["filename"].endswith(".png")


def test_unknown_checkpoint_is_rejected_with_node_and_message(fake, client):
    with pytest.raises(ComfyUIPromptRejected) as info:
        client.run(t2i(checkpoint="missing_model.safetensors"))
    msg = str(info.value)
    assert "node 4" in msg and "CheckpointLoaderSimple" in msg and '"Checkpoint"' in msg
    assert "missing_model.safetensors" in msg and "Value not in list" in msg and fake.url in msg
    assert info.value.node_errors["4"]["errors"][0]["type"] == "value_not_in_list"
    assert fake.submitted == []


def test_unknown_node_class_is_rejected(client):
    wf = t2i()
    wf["3"]["class_type"] = "KSamplerTurbo9000"
    with pytest.raises(ComfyUIPromptRejected, match="KSamplerTurbo9000 does not exist"):
        client.queue_prompt(wf)


def test_execution_error_over_websocket(fake, client):
    fake.fail_prompts.add("doomed")
    with pytest.raises(ComfyUIExecutionError) as info:
        client.run(t2i(), prompt_id="doomed", timeout=10)
    assert info.value.node_id == "3" and info.value.node_type == "KSampler"
    assert "CUDA out of memory" in str(info.value)
    # The same error is found through the history by a client that did not submit.
    with ComfyUIClient(fake.url, timeout=5) as other, pytest.raises(ComfyUIExecutionError, match="out of memory"):
        other.wait("doomed", timeout=5)


def test_execution_error_found_by_polling(fake, client):
    fake.ws_enabled = False
    fake.fail_prompts.add("*")
    with pytest.raises(ComfyUIExecutionError, match="node 3 \\(KSampler\\)"):
        client.run(t2i(), timeout=10)


def test_server_dropping_mid_job_is_a_readable_error(fake, client):
    fake.drop_mid_job = True
    with pytest.raises(ComfyUIUnreachable) as info:
        client.run(t2i(), timeout=20)
    assert "unreachable" in str(info.value) and "127.0.0.1" in str(info.value)
    with pytest.raises(ComfyUIUnreachable):
        client.system_stats()


def test_restarted_server_forgot_the_prompt(fake, client):
    fake.slow_seconds = 5
    pid = client.queue_prompt(t2i())
    fake.restart()  # history and queue live in memory only
    with pytest.raises(ComfyUIError, match="no longer knows prompt"):
        client.wait(pid, timeout=15)


def test_slow_server_times_out_and_interrupt(fake, client):
    fake.slow_seconds = 3
    with pytest.raises(ComfyUITimeout, match="did not finish"):
        client.run(t2i(), prompt_id="slow-1", timeout=0.5)
    for _ in range(200):  # interrupt acts on the running prompt only, as in ComfyUI
        if client.queue()["queue_running"]:
            break
        time.sleep(0.02)
    client.interrupt()
    with pytest.raises(ComfyUIExecutionError, match="interrupted"):
        client.wait("slow-1", timeout=5)


def test_500_on_view_is_an_error(fake, client):
    fake.view_status = 500
    with pytest.raises(ComfyUIError, match="HTTP 500") as info:
        client.run(t2i(), timeout=10)
    assert "/view" in str(info.value)


def test_unreachable_server():
    with ComfyUIClient("http://user:secret@127.0.0.1:9", timeout=1) as c:
        with pytest.raises(ComfyUIUnreachable) as info:
            c.system_stats()
    assert "secret" not in str(info.value) and "127.0.0.1:9" in str(info.value)
    with pytest.raises(ComfyUIError, match="must start with http"):
        ComfyUIClient("127.0.0.1:8188")


def test_upload_and_image_to_image(fake, client):
    src = Image.new("RGB", (200, 120), "teal")
    buf = io.BytesIO()
    src.save(buf, format="PNG")
    uploaded = client.upload_image(buf.getvalue(), "sketch.png")
    assert uploaded == {"name": "sketch.png", "subfolder": "", "type": "input"}
    wf = fill(load_workflow("sdxl_image_to_image"), image=uploaded["name"], prompt="in oils", denoise=0.5,
              width=320, height=192)
    out = client.run(wf, timeout=10)
    assert Image.open(io.BytesIO(out[0].data)).size == (320, 192)
    wf["10"]["inputs"]["image"] = "never_uploaded.png"
    with pytest.raises(ComfyUIPromptRejected, match="never_uploaded.png"):
        client.queue_prompt(wf)


def test_ace_step_music_workflow_returns_audio(fake, client):
    wf = fill(load_workflow("ace_step_music"), prompt="slow cello, rain", duration=1.5, seed=11, bpm=70)
    assert wf["5"]["inputs"]["tags"] == "slow cello, rain" and wf["5"]["inputs"]["duration"] == 1.5
    assert wf["7"]["inputs"]["seconds"] == 1.5 and wf["8"]["inputs"]["seed"] == 11
    out = client.run(wf, timeout=20)
    assert out[0].kind == "audio" and out[0].filename.endswith(".flac") and out[0].data[:4] == b"fLaC"


# -- workflows ---------------------------------------------------------------------------------------


def test_shipped_workflows_are_api_format_with_known_nodes():
    assert {"sdxl_text_to_image", "sdxl_image_to_image", "ace_step_music"} <= set(available_workflows())
    for name in available_workflows():
        wf = load_workflow(name)
        assert {n["class_type"] for n in wf.values()} <= KNOWN_CLASSES
        assert all(n["_meta"]["title"] for n in wf.values())


def test_fill_by_title_not_by_id():
    wf = load_workflow("sdxl_text_to_image")
    # Renumber every node, as a re-export from the UI would: titles still find them.
    mapping = {old: str(100 + i) for i, old in enumerate(wf)}
    renum = {}
    for old, node in wf.items():
        node = json.loads(json.dumps(node))
        for k, v in node["inputs"].items():
            if isinstance(v, list):
                node["inputs"][k] = [mapping[v[0]], v[1]]
        renum[mapping[old]] = node
    out = fill(renum, prompt="a whale", negative="blurry", seed=42, width=1024, height=576,
               checkpoint="other.safetensors", steps=12, cfg=5.5, filename_prefix="pg98/scene")
    by_title = {n["_meta"]["title"]: n["inputs"] for n in out.values()}
    assert by_title["Positive Prompt"]["text"] == "a whale"
    assert by_title["Negative Prompt"]["text"] == "blurry"
    assert by_title["KSampler"]["seed"] == 42 and by_title["KSampler"]["steps"] == 12
    assert by_title["KSampler"]["cfg"] == 5.5
    assert (by_title["Latent Size"]["width"], by_title["Latent Size"]["height"]) == (1024, 576)
    assert by_title["Checkpoint"]["ckpt_name"] == "other.safetensors"
    assert by_title["Save Image"]["filename_prefix"] == "pg98/scene"
    assert by_title["Positive Prompt"]["clip"] == [find_nodes(out, "Checkpoint")[0], 1]  # links untouched
    assert renum[find_nodes(renum, "Positive Prompt")[0]]["inputs"]["text"] != "a whale"  # input not mutated


def test_fill_missing_title_and_bad_values():
    wf = load_workflow("sdxl_text_to_image")
    with pytest.raises(WorkflowFormatError, match="Load Image"):
        fill(wf, image="x.png")
    for node in wf.values():
        node["_meta"]["title"] = node["class_type"]
    with pytest.raises(WorkflowFormatError, match="Positive Prompt"):
        fill(wf, prompt="anything")
    with pytest.raises(WorkflowError, match="multiple of 8"):
        fill(load_workflow("sdxl_text_to_image"), width=1001)
    with pytest.raises(WorkflowError, match="seed"):
        fill(load_workflow("sdxl_text_to_image"), seed=-1)


def test_ui_format_is_rejected_with_export_advice(tmp_path):
    ui = {"last_node_id": 9, "last_link_id": 9, "nodes": [{"id": 3, "type": "KSampler", "widgets_values": []}],
          "links": [[1, 4, 0, 3, 0, "MODEL"]], "version": 0.4}
    path = tmp_path / "ui.json"
    path.write_text(json.dumps(ui))
    with pytest.raises(WorkflowFormatError, match="Export \\(API\\)") as info:
        load_workflow(path)
    assert isinstance(info.value, E3Error) and "'nodes' and 'links'" in str(info.value)
    path.write_text("{not json")
    with pytest.raises(WorkflowFormatError, match="not readable JSON"):
        load_workflow(path)
    path.write_text(json.dumps({"1": {"class_type": "KSampler", "inputs": {"model": ["7", 0]}}}))
    with pytest.raises(WorkflowFormatError, match="missing node"):
        load_workflow(path)
    with pytest.raises(WorkflowError, match="not found"):
        load_workflow("no_such_workflow")
