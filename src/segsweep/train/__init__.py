"""Training one grid cell: data, metrics, gradient/update norm logging, the loop."""
