// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "smtl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "smtl", targets: ["smtl"]),
        .library(name: "SMTL", targets: ["SMTL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.0"),
    ],
    targets: [
        // System libraries at the edge: OpenBLAS for every matrix product, zlib for .gz data,
        // OpenMPI for the distributed trainer.
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]),
        .target(
            name: "SMTL",
            dependencies: ["CBLAS", "CZlib", "CMPI", .product(name: "RealModule", package: "swift-numerics")]),
        .executableTarget(
            name: "smtl",
            dependencies: ["SMTL", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Fuzz targets of the input readers (launch/fuzz builds them with libFuzzer; a plain build
        // replays corpus files).
        .executableTarget(name: "smtl-fuzz", dependencies: ["SMTL"], swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .testTarget(name: "SMTLTests", dependencies: ["SMTL"]),
    ],
    swiftLanguageModes: [.v5]
)
