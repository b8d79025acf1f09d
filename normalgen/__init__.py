"""normalgen: a photo of a surface in, a tangent-space normal map out (OpenGL convention by default)."""

__version__ = "0.1.0"
