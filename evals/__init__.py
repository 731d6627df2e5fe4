"""Measuring the flywheel itself: triage accuracy, labeler quality, upload efficiency, ..."""
