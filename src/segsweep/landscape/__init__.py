"""Loss landscapes: directions, batched evaluation, surfaces, roughness numbers."""
