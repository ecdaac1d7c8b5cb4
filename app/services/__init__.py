"""What the routers stand on: image decoding, the shipped and uploaded models' stores, the
model cache and sessions, the heavy-request gate, upload checks and sample images.

Services raise :class:`app.errors.ApiError` for what a client did wrong; routers stay thin.
"""
