"""Task generators of the 1997 and 2000 experiments, and the texts shipped with the course."""
