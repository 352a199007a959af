"""git kosli's bisect: the plan from two snapshots, built commits first, and the session it keeps beside git's."""
