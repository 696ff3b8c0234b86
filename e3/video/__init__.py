"""Video: the renderer, the channel studio planner and the ambient music synthesizer."""
