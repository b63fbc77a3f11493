"""Gradient probing: patch gradient norms per loss, per-pixel gradients, norm dynamics."""
