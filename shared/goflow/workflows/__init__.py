"""Workflows: the document users write and the rules it must satisfy."""
