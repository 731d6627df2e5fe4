"""Robot logs on disk: readers (MCAP, ROS 2 and ROS 1 bags), windows, reductions, a size index
and upload plans. What a robot does with its recordings (the simulated fleet's robots here, a
real robot through the edge agent), below the tools so both the fleet and the tools share it.
"""
