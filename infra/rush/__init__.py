"""`make rush`: a launch-day load scenario (locust) with an invariant and fairness report and plots."""
