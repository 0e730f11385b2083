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
        noCompress += listOf("tflite", "ort")
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

    // ONNX Runtime Mobile for .ort exports (vmf-export --target ort), with the NNAPI EP. The
    // same release as the Python package that wrote the .ort (constraints.txt): a runtime
    // older than the converter may not read its format.
    implementation("com.microsoft.onnxruntime:onnxruntime-android:1.32.0")

    // ExecuTorch's Java Module API and its XNNPACK backend, for a .pte export (model.pte). The
    // runtime should be at least as new as the executorch that wrote the .pte (docs/executorch.md).
    implementation("org.pytorch:executorch-android:1.0.1")
}
