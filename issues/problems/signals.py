"""What the problems tell the features built on them, which they do not import."""

from django.dispatch import Signal

# Sent inside intake's transaction once a new problem is stored, with `problem`: the Q chart
# draws the months it changed once the transaction commits.
problem_logged = Signal()
