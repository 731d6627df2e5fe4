"""Recording a robot's run as a real MCAP log with ROS 2 schemas (opens in Foxglove)."""
