# Installed as mtl_studio.resources: example projects and bundled data.
