// The umbrella module: `import DiscreteGrad` gives the tensor/autodiff core, the VAE pieces, the
// estimator registry, the training pipeline and the experiments (analyze, bench, poly, toy).
@_exported import Autodiff
@_exported import VAE
@_exported import Estimators
@_exported import Training
@_exported import Experiments
