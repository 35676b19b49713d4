/// cnnc's version, in one place: `cnnc --version` prints it, and every generated package records the version
/// that generated it (`NetworkInfo.cnncVersion`, printed by `train --version`).
public enum CNNCVersion {
    public static let current = "0.9.0"
}
