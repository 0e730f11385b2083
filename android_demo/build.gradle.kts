// Android Gradle Plugin 9.2 (needs Gradle >= 9.4.1 and JDK 17; compileSdk up to 36.1).
plugins {
    id("com.android.application") version "9.2.0" apply false
}
