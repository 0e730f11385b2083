plugins {
    id("com.android.application")
}

android {
    namespace = "dev.vmf.demo"
    compileSdk = 36

    defaultConfig {
        applicationId = "dev.vmf.demo"
        minSdk = 26
        targetSdk = 36
        versionCode = 1
        versionName = "0.1.0"
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    // The model is memory-mapped straight from the APK (AssetManager.openFd), which needs it
    // stored uncompressed.
    androidResources {
        noCompress += "tflite"
    }
}

dependencies {
    implementation(project(":core"))
    implementation("androidx.activity:activity:1.13.0")

    val camerax = "1.6.2"
    implementation("androidx.camera:camera-core:$camerax")
    implementation("androidx.camera:camera-camera2:$camerax")
    implementation("androidx.camera:camera-lifecycle:$camerax")
    implementation("androidx.camera:camera-view:$camerax")

    // LiteRT 1.4.x is the line whose Interpreter takes delegates (GpuDelegate); LiteRT 2.x keeps
    // Interpreter for the CPU only and moves the GPU to the CompiledModel API.
    val litert = "1.4.2"
    implementation("com.google.ai.edge.litert:litert:$litert")
    implementation("com.google.ai.edge.litert:litert-gpu:$litert")
    implementation("com.google.ai.edge.litert:litert-gpu-api:$litert")

    // ExecuTorch's Java Module API and its XNNPACK backend, for a .pte export (model.pte). The
    // runtime should be at least as new as the executorch that wrote the .pte (docs/executorch.md).
    implementation("org.pytorch:executorch-android:1.0.1")
}
