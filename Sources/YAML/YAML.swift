// YAML: libyaml events to a node tree whose every node carries its position.
