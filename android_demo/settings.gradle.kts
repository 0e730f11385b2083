// The Android demo: `core` is plain Java (tested on the JVM by jvm-test.sh, no SDK needed),
// `app` is the Android application that wires CameraX -> core -> LiteRT -> UI.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "vmf-android-demo"
include(":core", ":app")
