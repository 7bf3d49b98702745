"""Excel worksheet functions (PIPE_*) over the pipeline-xl engine."""
