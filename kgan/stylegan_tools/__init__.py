"""Seed 000's StyleGAN2 tools as a Python API (the CLI is `python -m kgan.stylegan`):
`generator` (load a generator, seeds -> W+ -> images, .npz codes), `mixing` (style mixing),
`importers` (official weights), `projector` (image -> W / W+), `editing` (InterFaceGAN)."""
