"""The studio's sensor and schedule.

- ``video_jobs_sensor`` (RUNNING by default, like the inbox sensor): each new ``planned`` video job
  becomes a ``video_jobs`` partition and a run of ``channel_video_job``, in one SensorResult. The
  run key is the job key, so a job is started once; jobs whose partition exists already (added by
  `e3 video produce`, or an earlier tick) are left alone.
- ``channel_schedule`` (STOPPED by default: publishing a video a day must be a user's choice; turn
  it on in the Dagster UI or with `dagster schedule start channel_schedule`): at ``E3_CHANNEL_CRON``
  (default ``0 6 * * *``, daily at 06:00 UTC, read when the definitions load) it plans the next job for
  every active channel, with the mood and length of the channel's newest job. The sensor then runs it.
"""

import dagster as dg
import sqlalchemy as sa

from e3.catalog.models import VideoJob
from e3.config import settings
from e3_assets.common import running_sensor
from e3_assets.partitions import video_jobs_partitions
from e3_assets.studio.assets import channel_assets
from e3_resources.catalog import CatalogResource
from e3_resources.foundry import FoundryResource


channel_video_job = dg.define_asset_job(
    "channel_video_job",
    selection=dg.AssetSelection.assets(*channel_assets),
    description="Everything the studio makes for one video job (one partition of `video_jobs`).",
    tags={"e3/kind": "channel_video"},  # one channel render at a time (dagster.yaml run queue)
)


def planned_job_keys(catalog: CatalogResource) -> list[str]:
    with catalog.session() as s:
        jobs = s.scalars(sa.select(VideoJob).where(VideoJob.status == "planned").order_by(VideoJob.created_at))
        return [j.partition_key for j in jobs]


@running_sensor("video_jobs_sensor", channel_video_job,
                "Turns each new `planned` video job into a video_jobs partition and a run (run key = job key).")
def video_jobs_sensor(context: dg.SensorEvaluationContext, catalog: CatalogResource) -> dg.SensorResult:
    existing = set(context.instance.get_dynamic_partitions(video_jobs_partitions.name))
    new = [key for key in planned_job_keys(catalog) if key not in existing]
    for key in new:
        context.log.info(f"video job {key}: new partition and run")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=key, run_key=key, tags={"e3/video_job": key}) for key in new],
        dynamic_partitions_requests=[video_jobs_partitions.build_add_request(new)] if new else [],
    )


def channel_cron() -> str:
    return settings().channel_cron


@dg.schedule(
    name="channel_schedule",
    cron_schedule=channel_cron(),
    job=channel_video_job,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Plans the next video for every active channel (E3_CHANNEL_CRON, default daily 06:00 UTC); "
                "video_jobs_sensor then runs it. Stopped by default.",
)
def channel_schedule(context: dg.ScheduleEvaluationContext, catalog: CatalogResource,
                     foundry: FoundryResource) -> dg.SkipReason:
    from e3.studio import active_channels, next_job_for_channel

    made, waiting = [], []
    for channel in active_channels(catalog.engine):
        job = next_job_for_channel(catalog.engine, foundry.foundry().root, channel)
        (made if job else waiting).append(f"{channel.name}: {job.partition_key}" if job else channel.name)
    for line in made:
        context.log.info(f"planned {line}")
    message = f"planned {len(made)} video job(s)" + (f" ({'; '.join(made)})" if made else "")
    if waiting:
        message += f"; {len(waiting)} channel(s) still have a planned job waiting"
    # The runs come from video_jobs_sensor, which also adds the partitions.
    return dg.SkipReason(message)
