package dev.convlens.viz;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Run;
import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.viz.image.Images;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Saliency maps: which input pixels the score of one class is sensitive to. All methods work on one
 * image {@code x (1,C,H,W)} and the class score {@code S_c(x)}, the graph's first output before any
 * softmax (torchvision's exports output the logits), and are one {@link Run#backward} each: a one-hot
 * seed at class {@code c} on the logits, sent down with a ReLU rule.
 *
 * <ul>
 *   <li><b>Vanilla gradient</b> (Simonyan, Vedaldi &amp; Zisserman, "Deep Inside Convolutional Networks:
 *       Visualising Image Classification Models and Saliency Maps", ICLR 2014 workshop, sec. 3):
 *       {@code g = dS_c/dx}, and the map {@code M[i,j] = max_ch |g[ch,i,j]|}.</li>
 *   <li><b>SmoothGrad</b> (Smilkov, Thorat, Kim, Viégas &amp; Wattenberg, "SmoothGrad: removing noise by
 *       adding noise", 2017): {@code g = (1/n) sum_{i=1..n} dS_c/dx (x + eps_i)},
 *       {@code eps_i ~ N(0, sigma^2 (max(x) - min(x))^2)} drawn from a seeded generator; the map is taken
 *       from the averaged gradient (as the authors' code does), {@code M = max_ch |g|}.</li>
 *   <li><b>Integrated Gradients</b> (Sundararajan, Taly &amp; Yan, "Axiomatic Attribution for Deep
 *       Networks", ICML 2017) from a baseline {@code x'} (default zeros, i.e. the mean image after
 *       normalization), with the <em>midpoint</em> Riemann sum over {@code m} steps:
 *       {@code a = (x - x') * (1/m) sum_{k=0..m-1} dS_c/dx (x' + (k + 1/2)/m (x - x'))}. Completeness:
 *       {@code sum(a) -> S_c(x) - S_c(x')} as {@code m} grows. {@code M = max_ch |a|}.</li>
 *   <li><b>Grad-CAM</b> (Selvaraju, Cogswell, Das, Vedantam, Parikh &amp; Batra, "Grad-CAM: Visual
 *       Explanations from Deep Networks via Gradient-based Localization", ICCV 2017) at a layer with
 *       activations {@code A (1,K,h,w)}: {@code alpha_k = (1/(h w)) sum_{i,j} dS_c/dA[k,i,j]},
 *       {@code L = ReLU(sum_k alpha_k A[k])} (h,w), upsampled bilinearly to (H,W) with half-pixel centres
 *       (PyTorch's {@code interpolate(mode="bilinear", align_corners=False)}). Not normalized.</li>
 *   <li><b>Guided Grad-CAM</b> (same paper): guided backpropagation (Springenberg, Dosovitskiy, Brox &amp;
 *       Riedmiller, "Striving for Simplicity: The All Convolutional Net", ICLR 2015 workshop; the
 *       {@link Relu.Rule#GUIDED} rule) times the upsampled Grad-CAM map, per colour channel.</li>
 * </ul>
 */
public final class Saliency {
    /**
     * What a method computed.
     *
     * @param method   "vanilla", "guided", "deconvnet", "smoothgrad", "ig", "gradcam" or "guided-gradcam"
     * @param target   the class c
     * @param score    S_c(x), the class's logit at the (clean) input
     * @param gradient the method's signal in input space (1,C,H,W): the gradient (vanilla; also for
     *                 Grad-CAM, from the same backward pass), the averaged gradient (SmoothGrad), the
     *                 attributions (IG), the guided gradient (guided), guided gradient times the map
     *                 (guided Grad-CAM)
     * @param map      the saliency map (H,W): {@code max_ch |gradient|}, or the upsampled Grad-CAM map
     * @param cam      Grad-CAM methods: the map at the layer's resolution (h,w); otherwise null
     */
    public record Result(String method, int target, float score, Tensor gradient, Tensor map, Tensor cam) {}

    private final Graph g;
    private final Kernels k;

    /** Saliency for the graph's first input (the image) and first output (the class scores). */
    public Saliency(Graph g, Kernels k) {
        this.g = g;
        this.k = k;
    }

    private String input() {
        return g.inputs.get(0);
    }

    private String output() {
        return g.outputs.get(0);
    }

    /** The index of the largest score of {@code logits (1,classes)} (first of ties). */
    public static int top1(Tensor logits) {
        int best = 0;
        for (int i = 1; i < logits.data.length; i++) if (logits.data[i] > logits.data[best]) best = i;
        return best;
    }

    /** The forward pass of {@code x}: {@link Graph#infer} (batch norm folded), keeping only the outputs. */
    public Run forward(Tensor x) {
        return forward(x, List.of());
    }

    /** The forward pass of {@code x} keeping the values named in {@code keep} as well. */
    public Run forward(Tensor x, Collection<String> keep) {
        Shapes.requireRank("Saliency", "input x", x, 4);
        Shapes.check(x.dim(0) == 1, "Saliency", "one image at a time: x " + Shapes.str(x.shape()) + " has batch " + x.dim(0));
        return g.infer(k, Map.of(input(), x), keep);
    }

    /** S_c(x). */
    public float score(Tensor x, int target) {
        return forward(x).output().data[target];
    }

    /** {@code target} itself, or the top-1 class of {@code run} when negative; checked against the number of classes. */
    private static int target(Run run, int target) {
        Tensor logits = run.output();
        int t = target < 0 ? top1(logits) : target;
        Shapes.check(t < logits.size() / logits.dim(0), "Saliency",
                "target class " + t + " but the output " + Shapes.str(logits.shape()) + " has " + logits.size() / logits.dim(0) + " classes");
        return t;
    }

    /** The class score's signal sent down {@code run} with {@code rule} to each of {@code wrt}. */
    private Map<String, Tensor> down(Run run, int target, Relu.Rule rule, List<String> wrt) {
        Tensor seed = Tensor.zeros(run.output().shape());
        seed.data[target] = 1;
        return run.backward(output(), seed, rule, wrt);
    }

    /** Simonyan et al.: the gradient of the class score (negative {@code target}: the top-1 class). */
    public Result vanilla(Tensor x, int target) {
        return backprop(x, target, Relu.Rule.GRADIENT);
    }

    /** Springenberg et al.'s guided backpropagation of the class score. */
    public Result guided(Tensor x, int target) {
        return backprop(x, target, Relu.Rule.GUIDED);
    }

    /**
     * The class score sent down to the input with {@code rule}: the gradient ("vanilla"), guided
     * backpropagation ("guided") or Zeiler and Fergus's deconvnet ("deconvnet").
     */
    public Result backprop(Tensor x, int target, Relu.Rule rule) {
        String method = switch (rule) {
            case GRADIENT -> "vanilla";
            case GUIDED -> "guided";
            case DECONVNET -> "deconvnet";
        };
        Run run = forward(x);
        int t = target(run, target);
        Tensor dx = down(run, t, rule, List.of(input())).get(input());
        return new Result(method, t, run.output().data[t], dx, maxAbsOverChannels(dx), null);
    }

    /**
     * Smilkov et al.: the gradient averaged over {@code samples} noisy copies, noise standard deviation
     * {@code sigma * (max(x) - min(x))}, drawn from {@code new Random(seed)}. The target class (if negative) is
     * the top-1 class of the clean image.
     */
    public Result smoothGrad(Tensor x, int target, int samples, float sigma, long seed) {
        Shapes.check(samples >= 1 && sigma >= 0, "SmoothGrad", "needs samples >= 1 and sigma >= 0, got " + samples + ", " + sigma);
        Run clean = forward(x);
        int t = target(clean, target);
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        for (float v : x.data) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        double std = sigma * (hi - lo);
        Random r = new Random(seed);
        Tensor sum = Tensor.zeros(x.shape());
        Tensor noisy = Tensor.zeros(x.shape());
        for (int s = 0; s < samples; s++) {
            for (int i = 0; i < x.data.length; i++) noisy.data[i] = (float) (x.data[i] + std * r.nextGaussian());
            Tensor dx = down(forward(noisy), t, Relu.Rule.GRADIENT, List.of(input())).get(input());
            for (int i = 0; i < sum.data.length; i++) sum.data[i] += dx.data[i];
        }
        for (int i = 0; i < sum.data.length; i++) sum.data[i] /= samples;
        return new Result("smoothgrad", t, clean.output().data[t], sum, maxAbsOverChannels(sum), null);
    }

    /**
     * Sundararajan et al., midpoint Riemann sum of {@code steps} terms from {@code baseline} (null: zeros).
     * The target class (if negative) is the top-1 class of {@code x}.
     */
    public Result integratedGradients(Tensor x, int target, int steps, Tensor baseline) {
        Shapes.check(steps >= 1, "IntegratedGradients", "needs steps >= 1, got " + steps);
        Tensor b = baseline == null ? Tensor.zeros(x.shape()) : baseline;
        Shapes.requireSameShape("IntegratedGradients", "input x", x, "baseline", b);
        Run run = forward(x);
        int t = target(run, target);
        Tensor sum = Tensor.zeros(x.shape());
        Tensor point = Tensor.zeros(x.shape());
        for (int s = 0; s < steps; s++) {
            float alpha = (s + 0.5f) / steps;
            for (int i = 0; i < x.data.length; i++) point.data[i] = b.data[i] + alpha * (x.data[i] - b.data[i]);
            Tensor dx = down(forward(point), t, Relu.Rule.GRADIENT, List.of(input())).get(input());
            for (int i = 0; i < sum.data.length; i++) sum.data[i] += dx.data[i];
        }
        Tensor a = Tensor.zeros(x.shape());
        for (int i = 0; i < a.data.length; i++) a.data[i] = (x.data[i] - b.data[i]) * sum.data[i] / steps;
        return new Result("ig", t, run.output().data[t], a, maxAbsOverChannels(a), null);
    }

    /**
     * Selvaraju et al.'s Grad-CAM at {@code layer} (anything {@link LayerRef} resolves to a (1,K,h,w) value).
     * The result's {@code gradient} is the vanilla input gradient, from the same backward pass.
     */
    public Result gradCam(Tensor x, int target, String layer) {
        String a = LayerRef.resolve(g, layer);
        Run run = forward(x, List.of(a));
        int t = target(run, target);
        Map<String, Tensor> grads = down(run, t, Relu.Rule.GRADIENT, List.of(input(), a));
        Tensor cam = cam(run.value(a), grads.get(a), layer);
        return new Result("gradcam", t, run.output().data[t], grads.get(input()), bilinear(cam, x.dim(2), x.dim(3)), cam);
    }

    /** Guided Grad-CAM: guided backpropagation times the upsampled Grad-CAM map at {@code layer}. */
    public Result guidedGradCam(Tensor x, int target, String layer) {
        String a = LayerRef.resolve(g, layer);
        Run run = forward(x, List.of(a));
        int t = target(run, target);
        Tensor cam = cam(run.value(a), down(run, t, Relu.Rule.GRADIENT, List.of(a)).get(a), layer);
        Tensor up = bilinear(cam, x.dim(2), x.dim(3));
        Tensor gb = down(run, t, Relu.Rule.GUIDED, List.of(input())).get(input());
        int hw = up.size();
        Tensor out = Tensor.zeros(gb.shape());
        for (int i = 0; i < out.data.length; i++) out.data[i] = gb.data[i] * up.data[i % hw];
        return new Result("guided-gradcam", t, run.output().data[t], out, maxAbsOverChannels(out), cam);
    }

    /** {@code ReLU(sum_k alpha_k A[k])} with {@code alpha_k} the spatial mean of {@code dA[k]}: (h,w). */
    static Tensor cam(Tensor act, Tensor dAct, String layer) {
        Shapes.check(act.rank() == 4 && act.dim(0) == 1, "Grad-CAM", "layer '" + layer + "' has shape "
                + Shapes.str(act.shape()) + "; needs a convolutional (1,K,h,w) value");
        int kk = act.dim(1), h = act.dim(2), w = act.dim(3), hw = h * w;
        Tensor cam = Tensor.zeros(h, w);
        for (int c = 0; c < kk; c++) {
            double alpha = 0;
            for (int i = 0; i < hw; i++) alpha += dAct.data[c * hw + i];
            float a = (float) (alpha / hw);
            for (int i = 0; i < hw; i++) cam.data[i] += a * act.data[c * hw + i];
        }
        for (int i = 0; i < hw; i++) cam.data[i] = Math.max(cam.data[i], 0f);
        return cam;
    }

    /**
     * Bilinear resize of {@code m (h,w)} to {@code (oh,ow)} with half-pixel centres, as PyTorch's
     * {@code interpolate(mode="bilinear", align_corners=False)}: output pixel i samples source
     * {@code max(0, (i + 1/2) h/oh - 1/2)}, the neighbour index clamped at the edge.
     */
    public static Tensor bilinear(Tensor m, int oh, int ow) {
        Shapes.requireRank("bilinear", "map", m, 2);
        int h = m.dim(0), w = m.dim(1);
        Tensor out = Tensor.zeros(oh, ow);
        float sy = (float) h / oh, sx = (float) w / ow;
        for (int i = 0; i < oh; i++) {
            float fy = Math.max(sy * (i + 0.5f) - 0.5f, 0f);
            int y0 = (int) fy, y1 = Math.min(y0 + 1, h - 1);
            float ly = fy - y0;
            for (int j = 0; j < ow; j++) {
                float fx = Math.max(sx * (j + 0.5f) - 0.5f, 0f);
                int x0 = (int) fx, x1 = Math.min(x0 + 1, w - 1);
                float lx = fx - x0;
                out.data[i * ow + j] = (1 - ly) * ((1 - lx) * m.data[y0 * w + x0] + lx * m.data[y0 * w + x1])
                        + ly * ((1 - lx) * m.data[y1 * w + x0] + lx * m.data[y1 * w + x1]);
            }
        }
        return out;
    }

    /** {@code M[i,j] = max_ch |g[0,ch,i,j]|} of a (1,C,H,W) signal: (H,W). */
    public static Tensor maxAbsOverChannels(Tensor grad) {
        Shapes.requireRank("Saliency", "gradient", grad, 4);
        int c = grad.dim(1), hw = grad.dim(2) * grad.dim(3);
        Tensor m = Tensor.zeros(grad.dim(2), grad.dim(3));
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < hw; i++) m.data[i] = Math.max(m.data[i], Math.abs(grad.data[ch * hw + i]));
        return m;
    }

    /**
     * Writes {@code heatmap.png} (the map in viridis), {@code overlay.png} (the heatmap over the image,
     * which is taken as ImageNet-normalized) and {@code gradient.png} (the input-space signal, centred at grey)
     * into {@code dir}.
     */
    public static void writePngs(Path dir, Tensor x, Result r) {
        BufferedImage heat = Images.heatmap(r.map().data, r.map().dim(0), r.map().dim(1));
        Images.writePng(heat, dir.resolve("heatmap.png"));
        Images.writePng(Images.overlay(Images.fromNormalized(x, Images.IMAGENET_MEAN, Images.IMAGENET_STD), heat, 0.5f),
                dir.resolve("overlay.png"));
        Images.writePng(Images.signal(r.gradient()), dir.resolve("gradient.png"));
    }
}
