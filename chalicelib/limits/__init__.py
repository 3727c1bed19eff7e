"""Abuse limits: fixed-window counters per booking code, person, client address and mail address."""
