"""Video: the channel studio (partitioned by video job) and the narrated book video (by book).

- assets: video_plan -> music_tracks -> background_images -> channel_video -> export_package
  (``video_jobs``), and book_video (``books``);
- jobs: channel_video_job; sensors: video_jobs_sensor (running by default);
  schedules: channel_schedule (stopped by default, ``E3_CHANNEL_CRON``);
- resources: ``ffmpeg``, ``comfyui`` and ``llm`` (named once, in ``e3_resources.all_resources``).
"""

from e3_assets.video.book import book_video
from e3_assets.video.channel import channel_assets
from e3_assets.video.sensors import channel_schedule, channel_video_job, video_jobs_sensor

assets = [*channel_assets, book_video]
jobs = [channel_video_job]
sensors = [video_jobs_sensor]
schedules = [channel_schedule]
