"""What is promised and what is tried, as validated data: the catalogue (metrics, SLOs,
alerts, dashboards), the chaos scenarios, time scaling, and the rules rendered from them.

Nothing here touches the outside world: every input is checked, with every problem named by
file and field, before anything starts.
"""
