package dev.vmf.demo;

import android.Manifest;
import android.content.pm.PackageManager;
import android.content.res.AssetFileDescriptor;
import android.os.Bundle;
import android.util.Log;
import android.util.Size;
import android.widget.Switch;
import android.widget.TextView;
import androidx.activity.ComponentActivity;
import androidx.activity.result.ActivityResultLauncher;
import androidx.activity.result.contract.ActivityResultContracts;
import androidx.camera.core.CameraSelector;
import androidx.camera.core.ImageAnalysis;
import androidx.camera.core.ImageProxy;
import androidx.camera.core.Preview;
import androidx.camera.core.resolutionselector.ResolutionSelector;
import androidx.camera.core.resolutionselector.ResolutionStrategy;
import androidx.camera.lifecycle.ProcessCameraProvider;
import androidx.camera.view.PreviewView;
import androidx.core.content.ContextCompat;
import com.google.common.util.concurrent.ListenableFuture;
import dev.vmf.core.ClipStream;
import dev.vmf.core.LatencyStats;
import dev.vmf.core.ModelCard;
import dev.vmf.core.ModelCardException;
import dev.vmf.core.Prediction;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Wires camera -> core -> UI and nothing else: CameraX frames go to {@link ClipStream} (ring
 * buffer, preprocessing, hop scheduling; plain Java, JUnit-tested), clips go to {@link
 * LiteRtClipRunner}, {@link OrtClipRunner} or {@link ExecuTorchClipRunner}, predictions go to the
 * overlay.
 */
public final class MainActivity extends ComponentActivity {
    private static final String TAG = "vmf";
    /**
     * copy-model.sh puts the export here, whatever its variant: the card says the rest. The
     * suffix picks the runner: .pte runs on ExecuTorch, .ort on ONNX Runtime Mobile, .tflite on
     * LiteRT.
     */
    private static final String[] MODEL_ASSETS = {"model.pte", "model.ort", "model.tflite"};
    /** A new prediction every 8 kept frames: ~4 a second from a 30 fps camera. */
    private static final int HOP = 8;
    /**
     * The hold display policy: keep showing the last class until a clip's top-1 scores at least
     * this, in (0, 1), e.g. 0.4; null shows every top-1 (docs/runtime.md, "Holding the shown
     * label"; vmf-stream --hold, the web page's ?hold).
     */
    private static final Double HOLD = null;
    /** CPU threads for XNNPACK; big cores on most phones. */
    private static final int CPU_THREADS = 4;
    /** Analysis frames just above the model's input; the core crops and resizes them. */
    private static final Size ANALYSIS_SIZE = new Size(640, 480);
    /**
     * Runs of the back-to-back series each runner is timed with before it streams (untimed
     * warm-up, then timed), as vmf-bench times a model: the figure the live, paced one is set
     * against (docs/performance.md, "Paced runs").
     */
    private static final int BACK_TO_BACK_WARMUP = 3;
    private static final int BACK_TO_BACK_RUNS = 10;

    // camera frames are analysed on one thread, clips inferred on another (inference never
    // stalls capture)
    private final ExecutorService analysisExecutor = Executors.newSingleThreadExecutor();
    private final ExecutorService inferenceExecutor = Executors.newSingleThreadExecutor();

    private PreviewView preview;
    private TextView overlay;
    private Switch gpuSwitch;
    private ModelCard card;
    private ByteBuffer model;
    private volatile ClipStream stream;
    private volatile String device = "";
    private volatile boolean failed; // a load error stays on screen instead of being overwritten
    private String modelAsset;
    private String ptePath; // set when the app runs an ExecuTorch .pte (loaded from a file path)
    private ModelRunner runner; // touched on the inference thread only
    private LatencyStats backToBack; // the runner's back-to-back figures; inference thread only

    private final ActivityResultLauncher<String> cameraPermission = registerForActivityResult(
            new ActivityResultContracts.RequestPermission(), granted -> {
                if (granted) {
                    startCameraAfterMeasuring();
                } else {
                    overlay.setText(R.string.camera_denied);
                }
            });

    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        setContentView(R.layout.activity_main);
        preview = findViewById(R.id.preview);
        overlay = findViewById(R.id.overlay);
        gpuSwitch = findViewById(R.id.gpu);
        try {
            modelAsset = findModelAsset();
            card = ModelCard.parse(readAsset(ModelCard.sidecarName(modelAsset)),
                    "assets/" + ModelCard.sidecarName(modelAsset));
            if (modelAsset.endsWith(".pte")) {
                ptePath = copyAssetToFile(modelAsset); // ExecuTorch loads from a file path
                gpuSwitch.setEnabled(false); // the .pte runs on XNNPACK; no GPU toggle
            } else {
                model = mapAsset(modelAsset);
                if (modelAsset.endsWith(".ort")) {
                    gpuSwitch.setText(R.string.nnapi); // ONNX Runtime's accelerator on Android
                }
            }
        } catch (ModelCardException | IOException e) {
            showError("cannot load the model: " + e.getMessage()
                    + "\nExport one with vmf-export and run android_demo/copy-model.sh.");
            failed = true;
            gpuSwitch.setEnabled(false);
            return;
        }
        ClipStream.Listener listener = new ClipStream.Listener() {
            @Override
            public void onPrediction(Prediction prediction) {
                // on the inference thread, where the stream's live figures and backToBack live
                ClipStream current = stream;
                String text = backToBack == null || current == null ? prediction.describe(device)
                        : prediction.describe(device) + "\n" + current.versus(backToBack);
                runOnUiThread(() -> {
                    if (!failed) {
                        String note = card.trainingNote(); // a model trained on whole videos
                        String shown = note == null ? text : note + "\n" + text;
                        overlay.setText(card.untrained()
                                ? "untrained weights: the labels mean nothing yet\n" + shown : shown);
                    }
                });
            }

            @Override
            public void onError(Exception error) {
                Log.e(TAG, "inference failed", error);
                if (!failed) {
                    showError("inference failed: " + error.getMessage());
                }
            }
        };
        // the runner is swapped on the inference thread, between runs, when the toggle changes
        stream = new ClipStream(card, HOP, HOLD, (clip, logits) -> {
            if (runner == null) {
                throw new IllegalStateException("no interpreter");
            }
            runner.run(clip, logits);
        }, inferenceExecutor, listener);
        gpuSwitch.setOnCheckedChangeListener((view, useGpu) -> useRunner(useGpu));
        useRunner(gpuSwitch.isChecked());

        if (ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA)
                == PackageManager.PERMISSION_GRANTED) {
            startCameraAfterMeasuring();
        } else {
            cameraPermission.launch(Manifest.permission.CAMERA);
        }
    }

    private String copyAssetToFile(String name) throws IOException {
        File file = new File(getFilesDir(), name);
        try (InputStream in = getAssets().open(name);
                FileOutputStream out = new FileOutputStream(file)) {
            byte[] chunk = new byte[1 << 16];
            for (int n; (n = in.read(chunk)) > 0; ) {
                out.write(chunk, 0, n);
            }
        }
        return file.getAbsolutePath();
    }

    /** The first of {@link #MODEL_ASSETS} the APK holds. */
    private String findModelAsset() throws IOException {
        java.util.List<String> present = java.util.Arrays.asList(getAssets().list(""));
        for (String name : MODEL_ASSETS) {
            if (present.contains(name)) {
                return name;
            }
        }
        throw new IOException("no " + String.join(" or ", MODEL_ASSETS) + " in the app's assets");
    }

    /**
     * Builds the interpreter on the inference thread, which is where it will run, and times it
     * back to back there before any clip of the stream: a clip that comes due meanwhile (the
     * toggle flipped while streaming) waits behind those runs.
     */
    private void useRunner(boolean useGpu) {
        inferenceExecutor.execute(() -> {
            if (runner != null) {
                runner.close();
                runner = null;
            }
            backToBack = null; // the figures of the runner just closed
            try {
                runner = ptePath != null
                        ? ExecuTorchClipRunner.create(ptePath, card, CPU_THREADS)
                        : modelAsset.endsWith(".ort")
                        ? OrtClipRunner.create(model, card, useGpu, CPU_THREADS)
                        : LiteRtClipRunner.create(model, card, useGpu, CPU_THREADS);
                device = runner.device();
                Log.i(TAG, card.variant() + " " + card.precision() + " on " + device + " (clip_sampling "
                        + card.clipSampling() + ", sample_fps " + card.sampleFps() + ")");
                ClipStream current = stream;
                if (current != null) {
                    backToBack = current.backToBack(BACK_TO_BACK_WARMUP, BACK_TO_BACK_RUNS);
                    Log.i(TAG, String.format(Locale.ROOT, "back to back on %s: p50 %.1f / p90 %.1f ms"
                            + " (%d runs after %d untimed)", device, backToBack.median(), backToBack.p90(),
                            BACK_TO_BACK_RUNS, BACK_TO_BACK_WARMUP));
                }
            } catch (Exception e) { // the card check, the runtime, or a failing back-to-back run
                Log.e(TAG, "cannot create the interpreter", e);
                failed = true;
                showError("cannot run the model: " + e.getMessage());
                analysisExecutor.execute(() -> stream = null); // stop feeding a runner that is not there
            }
        });
    }

    /**
     * Starts the camera once the inference thread has done what is queued on it now: the first
     * runner and its back-to-back runs, which so time the model alone, with no camera frames
     * being read and preprocessed beside them.
     */
    private void startCameraAfterMeasuring() {
        inferenceExecutor.execute(() -> runOnUiThread(() -> {
            if (!isDestroyed()) {
                startCamera();
            }
        }));
    }

    private void startCamera() {
        ListenableFuture<ProcessCameraProvider> future = ProcessCameraProvider.getInstance(this);
        future.addListener(() -> {
            ProcessCameraProvider provider;
            try {
                provider = future.get();
            } catch (ExecutionException | InterruptedException e) {
                showError("camera unavailable: " + e.getMessage());
                return;
            }
            Preview previewUseCase = new Preview.Builder().build();
            previewUseCase.setSurfaceProvider(preview.getSurfaceProvider());
            ImageAnalysis analysis = new ImageAnalysis.Builder()
                    .setResolutionSelector(new ResolutionSelector.Builder()
                            .setResolutionStrategy(new ResolutionStrategy(ANALYSIS_SIZE,
                                    ResolutionStrategy.FALLBACK_RULE_CLOSEST_HIGHER_THEN_LOWER))
                            .build())
                    // a slow analyser drops stale frames instead of queueing them
                    .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                    // the planes as the sensor gives them: no RGBA or JPEG conversion
                    .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_YUV_420_888)
                    .build();
            analysis.setAnalyzer(analysisExecutor, this::analyze);
            provider.unbindAll();
            provider.bindToLifecycle(this, CameraSelector.DEFAULT_BACK_CAMERA, previewUseCase, analysis);
        }, ContextCompat.getMainExecutor(this));
    }

    /** On the analysis thread: one frame into the clip; the stream decides when to infer. */
    private void analyze(ImageProxy image) {
        try {
            ClipStream current = stream;
            if (current != null) {
                current.offer(ImageProxies.upright(image), image.getImageInfo().getTimestamp());
            }
        } catch (RuntimeException e) { // a frame the core cannot read: say so once, keep the app alive
            Log.e(TAG, "cannot use a camera frame", e);
            stream = null;
            failed = true;
            showError("cannot use the camera's frames: " + e.getMessage());
        } finally {
            image.close();
        }
    }

    @Override
    protected void onStop() {
        super.onStop();
        // frames from before the pause must not share a clip with frames after it
        analysisExecutor.execute(() -> {
            ClipStream current = stream;
            if (current != null) {
                current.reset();
            }
        });
    }

    @Override
    protected void onDestroy() {
        super.onDestroy();
        analysisExecutor.shutdown();
        inferenceExecutor.execute(() -> {
            if (runner != null) {
                runner.close();
                runner = null;
            }
        });
        inferenceExecutor.shutdown();
    }

    private void showError(String message) {
        runOnUiThread(() -> overlay.setText(message));
    }

    private String readAsset(String name) throws IOException {
        try (InputStream in = getAssets().open(name)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] chunk = new byte[8192];
            for (int n; (n = in.read(chunk)) > 0; ) {
                out.write(chunk, 0, n);
            }
            return new String(out.toByteArray(), StandardCharsets.UTF_8);
        }
    }

    /** Memory-maps the model from the APK (stored uncompressed: see app/build.gradle.kts). */
    private ByteBuffer mapAsset(String name) throws IOException {
        try (AssetFileDescriptor fd = getAssets().openFd(name);
                FileInputStream in = new FileInputStream(fd.getFileDescriptor());
                FileChannel channel = in.getChannel()) {
            return channel.map(FileChannel.MapMode.READ_ONLY, fd.getStartOffset(), fd.getDeclaredLength());
        }
    }
}
