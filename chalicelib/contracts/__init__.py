"""What booking and notify agree on, so that neither imports the other: the mail message and local time.

Standard library and pydantic only; nothing here imports another package of the project.
"""
