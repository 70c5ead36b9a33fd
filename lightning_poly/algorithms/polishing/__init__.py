"""Polishing (wedge-products paper, Section 4.1), one module a step: ``layer`` (a dense layer's neurons made exact
normals to the inputs they are most nearly orthogonal to), ``conv`` (a ``Conv2d``'s filters, on its patches),
``mlp`` (a ReLU MLP: polish, refit the last layer, rescale), ``cnn`` (a CNN: polish its convolutions, refit the
head), ``head`` (the last layer's convex refit both share), ``evaluation`` (a model's own forward scored before and
after a polish) and ``scaling`` (the optimal rescaling of Equation (98))."""
