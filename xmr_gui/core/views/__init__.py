"""Pictures of the model for people, without Qt: the 2-D embedding map and the label-graph layout."""
