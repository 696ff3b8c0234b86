"""The channel studio, partitioned by video job (dynamic partition set ``video_jobs``).

- assets: video_plan -> music_tracks -> background_images -> channel_video -> export_package
  -> youtube_upload;
- jobs: channel_video_job; sensors: video_jobs_sensor (running by default);
  schedules: channel_schedule (stopped by default, ``E3_CHANNEL_CRON``);
- resources: ``ffmpeg``, ``comfyui`` and ``llm`` (named once, in ``e3_resources.all_resources``).
"""

from e3_assets.studio.assets import channel_assets
from e3_assets.studio.sensors import channel_schedule, channel_video_job, video_jobs_sensor

assets = channel_assets
jobs = [channel_video_job]
sensors = [video_jobs_sensor]
schedules = [channel_schedule]
