"""Helpers shared by GoFlow's tests."""
