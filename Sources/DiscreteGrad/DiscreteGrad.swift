// The umbrella module: `import DiscreteGrad` gives the tensor/autodiff core, the VAE pieces, the
// estimator registry and the training pipeline.
@_exported import Autodiff
@_exported import VAE
@_exported import Estimators
@_exported import Training
