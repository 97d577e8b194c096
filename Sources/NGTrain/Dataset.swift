import Foundation
import NGPlus

/// Images and labels of a classification data set, images as rows of values in [0, 1].
public struct Dataset: Sendable {
    public let images: Matrix<Float>
    public let labels: [Int]
    public let classes: Int
    /// Height and width of one image.
    public let height: Int
    public let width: Int

    /// - Throws: `invalidArgument` when counts disagree or a label is out of range.
    public init(images: Matrix<Float>, labels: [Int], classes: Int, height: Int, width: Int) throws(NGError) {
        try NGError.Operation.datasetInit.require(
            images.rows == labels.count && images.columns == height * width && classes >= 2, "images/labels",
            "\(images.rows) images of \(images.columns) values, \(labels.count) labels, \(classes) classes for \(height)×\(width) images")
        if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
            throw .invalidArgument(operation: .datasetInit, argument: "labels", reason: "holds \(bad), outside 0..<\(classes)")
        }
        self.images = images
        self.labels = labels
        self.classes = classes
        self.height = height
        self.width = width
    }

    /// An IDX image file and its label file (MNIST layout).
    /// - Throws: the reader's errors, or `corruptData` when images and labels disagree or a
    ///   label is outside `0..<classes`.
    public init(imagesPath: String, labelsPath: String, classes: Int = 10) throws(DataError) {
        let images = try IDXFile(path: imagesPath)
        let labels = try IDXFile(path: labelsPath)
        guard images.dimensions.count == 3 else {
            throw DataError.corruptData(operation: .dataset, path: imagesPath, reason: "has dimensions \(images.dimensions), images need 3")
        }
        guard labels.dimensions == [images.dimensions[0]] else {
            throw DataError.corruptData(operation: .dataset, path: labelsPath,
                               reason: "has dimensions \(labels.dimensions) for \(images.dimensions[0]) images")
        }
        let (count, height, width) = (images.dimensions[0], images.dimensions[1], images.dimensions[2])
        let pixels = try! Matrix<Float>(rows: count, columns: height * width, elements: images.values.map { Float($0) / 255 })
        do {
            try self.init(images: pixels, labels: labels.values.map(Int.init), classes: classes, height: height, width: width)
        } catch {
            throw DataError.corruptData(operation: .dataset, path: labelsPath, reason: "\(error)")
        }
    }

    /// The number of examples.
    public var count: Int { labels.count }

    /// The first `limit` examples (all when nil or larger).
    public func prefix(_ limit: Int?) -> Dataset {
        guard let limit, limit < count else { return self }
        let subset = Matrix<Float>(rows: limit, columns: images.columns) { i, j in images[i, j] }
        return try! Dataset(images: subset, labels: Array(labels.prefix(limit)), classes: classes, height: height, width: width)
    }
}

/// Fashion-MNIST (or MNIST) from a folder of the four standard IDX files.
public enum FashionMNIST {
    /// Where Debian's `dataset-fashion-mnist` puts the files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"

    /// Loads the training and test sets from `directory`, gzip-compressed or not.
    public static func load(directory: String = defaultDirectory) throws(DataError) -> (train: Dataset, test: Dataset) {
        func path(_ name: String) -> String {
            let plain = directory + "/" + name
            return FileManager.default.fileExists(atPath: plain + ".gz") ? plain + ".gz" : plain
        }
        let train = try Dataset(imagesPath: path("train-images-idx3-ubyte"), labelsPath: path("train-labels-idx1-ubyte"))
        let test = try Dataset(imagesPath: path("t10k-images-idx3-ubyte"), labelsPath: path("t10k-labels-idx1-ubyte"))
        return (train, test)
    }
}
