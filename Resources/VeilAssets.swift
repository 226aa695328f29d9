public enum Probe { public static let a = PackageResources.v_js }
