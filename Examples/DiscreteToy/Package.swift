// swift-tools-version:6.0
// A model that is not the VAE, trained with estimators from DiscreteGrad's registry: the library used
// from outside, by path. `make example` (and CI, through `make test`) builds and runs it.
import PackageDescription

let package = Package(
    name: "DiscreteToy",
    platforms: [.macOS(.v15)],
    // Named, so the product resolves whatever the checkout folder is called.
    dependencies: [.package(name: "DiscreteGrad", path: "../..")],
    targets: [
        .executableTarget(name: "discrete-toy", dependencies: [.product(name: "DiscreteGrad", package: "DiscreteGrad")]),
    ],
    swiftLanguageModes: [.v5]
)
