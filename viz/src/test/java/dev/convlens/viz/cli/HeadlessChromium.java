package dev.convlens.viz.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Debian's {@code chromium}, headless, driven through the Chrome DevTools protocol over a WebSocket
 * (Java's {@link java.net.http.WebSocket}; no other dependency). The browser is started with
 * {@code --remote-debugging-port=0}; the {@code DevTools listening on ws://...} line on its stderr
 * gives the browser endpoint, a page target is created and attached in flat mode, and page commands
 * carry its session id. Replies are matched by id; events are kept, and the console errors among
 * them (Runtime.consoleAPICalled of type error, Log.entryAdded of level error, Runtime.exceptionThrown)
 * are collected. Messages are picked apart with regular expressions, enough for the few fields read.
 */
final class HeadlessChromium implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/bin/chromium");
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final Pattern REPLY_ID = Pattern.compile("^\\{\"id\":(\\d+),");
    private static final Pattern METHOD = Pattern.compile("^\\{\"method\":\"([A-Za-z.]+)\"");

    private final Process process;
    private final Path profile;
    private final WebSocket ws;
    private final BlockingQueue<String> inbox = new LinkedBlockingQueue<>();
    private final List<String> events = Collections.synchronizedList(new ArrayList<>());
    private final List<String> consoleErrors = Collections.synchronizedList(new ArrayList<>());
    private final List<String> stderr = Collections.synchronizedList(new ArrayList<>());
    private int nextId = 1;
    private String session;

    HeadlessChromium() throws IOException, InterruptedException {
        profile = Files.createTempDirectory("convlens-chromium-");
        process = new ProcessBuilder(BINARY.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--user-data-dir=" + profile, "--remote-debugging-port=0", "--window-size=1280,1024", "about:blank")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        CompletableFuture<String> endpoint = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    stderr.add(line);
                    int at = line.indexOf("DevTools listening on ");
                    if (at >= 0) endpoint.complete(line.substring(at + "DevTools listening on ".length()).trim());
                }
            } catch (IOException ignored) {
                // the browser went away
            }
            endpoint.completeExceptionally(new IOException("chromium exited without a DevTools endpoint: " + stderr));
        }, "chromium-stderr");
        reader.setDaemon(true);
        reader.start();
        String url;
        try {
            url = endpoint.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (Exception e) {
            close();
            throw new IOException("chromium: no DevTools endpoint within " + TIMEOUT + ": " + stderr, e);
        }
        ws = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(TIMEOUT)
                .buildAsync(URI.create(url), new Listener()).join();
        String target = string(call(null, "Target.createTarget", "{\"url\":\"about:blank\"}"), "targetId");
        session = string(call(null, "Target.attachToTarget", "{\"targetId\":\"" + target + "\",\"flatten\":true}"), "sessionId");
        call(session, "Runtime.enable", "{}");
        call(session, "Log.enable", "{}");
        call(session, "Page.enable", "{}");
    }

    /** Opens {@code url} in the page and waits for its load event. */
    void navigate(String url) throws IOException, InterruptedException {
        events.clear();
        String reply = call(session, "Page.navigate", "{\"url\":\"" + url + "\"}");
        if (reply.contains("\"errorText\"")) throw new IOException("Page.navigate " + url + ": " + reply);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (events.stream().noneMatch(e -> e.startsWith("{\"method\":\"Page.loadEventFired\""))) {
            if (System.nanoTime() > deadline) throw new IOException("no Page.loadEventFired for " + url + " within " + TIMEOUT);
            pump(100);
        }
    }

    /** Evaluates a JavaScript expression in the page; its value as JSON text (a boolean or number here). */
    String evaluate(String expression) throws IOException, InterruptedException {
        String reply = call(session, "Runtime.evaluate", "{\"expression\":\"" + expression.replace("\\", "\\\\").replace("\"", "\\\"")
                + "\",\"returnByValue\":true}");
        if (reply.contains("\"exceptionDetails\"")) throw new IOException("Runtime.evaluate " + expression + ": " + reply);
        Matcher m = Pattern.compile("\"value\":(true|false|-?[0-9.eE+]+)").matcher(reply);
        if (!m.find()) throw new IOException("Runtime.evaluate " + expression + ": no value in " + reply);
        return m.group(1);
    }

    /** A PNG of the whole page (not just the viewport). */
    byte[] screenshot() throws IOException, InterruptedException {
        String metrics = call(session, "Page.getLayoutMetrics", "{}");
        Matcher m = Pattern.compile("\"cssContentSize\":\\{\"x\":[-0-9.eE+]+,\"y\":[-0-9.eE+]+,\"width\":([0-9.eE+]+),\"height\":([0-9.eE+]+)")
                .matcher(metrics);
        String params = m.find()
                ? "{\"format\":\"png\",\"captureBeyondViewport\":true,\"clip\":{\"x\":0,\"y\":0,\"width\":" + m.group(1)
                        + ",\"height\":" + m.group(2) + ",\"scale\":1}}"
                : "{\"format\":\"png\"}";
        return java.util.Base64.getDecoder().decode(string(call(session, "Page.captureScreenshot", params), "data"));
    }

    /** The console errors and uncaught exceptions seen so far, as the raw event messages (truncated). */
    List<String> consoleErrors() throws InterruptedException {
        pump(0);
        synchronized (consoleErrors) {
            return List.copyOf(consoleErrors);
        }
    }

    private String call(String sessionId, String method, String params) throws IOException, InterruptedException {
        int id = nextId++;
        String msg = "{\"id\":" + id + ",\"method\":\"" + method + "\",\"params\":" + params
                + (sessionId == null ? "" : ",\"sessionId\":\"" + sessionId + "\"") + "}";
        ws.sendText(msg, true).join();
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            String in = inbox.poll(100, TimeUnit.MILLISECONDS);
            if (in == null) continue;
            Matcher m = REPLY_ID.matcher(in);
            if (m.find() && Integer.parseInt(m.group(1)) == id) {
                if (in.startsWith("{\"id\":" + id + ",\"error\"")) throw new IOException(method + " failed: " + in);
                return in;
            }
            event(in);
        }
        throw new IOException(method + ": no reply within " + TIMEOUT);
    }

    /** Files the messages that arrived (waiting up to {@code ms} for the first). */
    private void pump(long ms) throws InterruptedException {
        String in = inbox.poll(ms, TimeUnit.MILLISECONDS);
        while (in != null) {
            event(in);
            in = inbox.poll();
        }
    }

    private void event(String in) {
        Matcher m = METHOD.matcher(in);
        if (!m.find()) return;
        events.add(in);
        String method = m.group(1);
        boolean error = switch (method) {
            case "Runtime.consoleAPICalled" -> in.contains("\"type\":\"error\"") || in.contains("\"type\":\"assert\"");
            case "Log.entryAdded" -> in.contains("\"level\":\"error\"");
            case "Runtime.exceptionThrown" -> true;
            default -> false;
        };
        if (error) consoleErrors.add(in.length() > 600 ? in.substring(0, 600) + "..." : in);
    }

    private static String string(String json, String field) throws IOException {
        Matcher m = Pattern.compile("\"" + field + "\":\"([^\"]*)\"").matcher(json);
        if (!m.find()) throw new IOException("no \"" + field + "\" in " + (json.length() > 300 ? json.substring(0, 300) : json));
        return m.group(1);
    }

    private final class Listener implements WebSocket.Listener {
        private final StringBuilder partial = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                inbox.add(partial.toString());
                partial.setLength(0);
            }
            webSocket.request(1);
            return null;
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (ws != null) ws.abort();
        process.descendants().forEach(ProcessHandle::destroy);
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
        try (var s = Files.walk(profile)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
