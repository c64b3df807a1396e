"""Stable-Baselines3 training and evaluation on the tme environments (`tme train`)."""
