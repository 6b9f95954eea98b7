package dev.rewind.align.aligner;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An HTTP/1.1 server on loopback, written on a raw socket, that misbehaves in one chosen way, to check
 * that the OpenAI-compatible client bounds time and memory whatever a server does. It counts the bytes
 * it managed to send: once the client gives up, its writes fail and the count stops.
 */
final class MisbehavingServer implements AutoCloseable {

    enum Behaviour {
        /** 200 and chunked JSON that never ends: 64 KiB chunks as fast as the client reads. */
        STREAM_FOREVER,
        /** 200 with a Content-Length, then one byte of body every 50 ms. */
        TRICKLE_BODY,
        /** The status line and headers one byte every 50 ms. */
        TRICKLE_HEADERS,
        /** A valid 50 MB JSON reply with its Content-Length. */
        HUGE_JSON,
        /** The same 50 MB of JSON, chunked (no length known in advance). */
        HUGE_CHUNKED_JSON,
        /** 401 whose body repeats the request's Authorization header, as some proxies do. */
        ECHO_AUTHORIZATION,
        /** 200 whose answer repeats the request's Authorization header. */
        ANSWER_WITH_AUTHORIZATION,
        /** 302 to another address. */
        REDIRECT
    }

    private final ServerSocket socket;
    private final Behaviour behaviour;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    final AtomicLong bytesSent = new AtomicLong();
    /** When the last write failed (the client closed the connection), in System.nanoTime, or 0. */
    final AtomicLong closedAt = new AtomicLong();
    final AtomicLong redirectedRequests = new AtomicLong();

    MisbehavingServer(Behaviour behaviour) throws IOException {
        this.behaviour = behaviour;
        this.socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        executor.execute(this::acceptLoop);
    }

    String baseUrl() {
        return "http://127.0.0.1:" + socket.getLocalPort() + "/v1";
    }

    private void acceptLoop() {
        while (!socket.isClosed()) {
            try {
                Socket s = socket.accept();
                executor.execute(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            String request = readRequest(in);
            String authorization = header(request, "authorization");
            switch (behaviour) {
                case STREAM_FOREVER -> {
                    write(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
                    byte[] chunk = new byte[64 * 1024];
                    java.util.Arrays.fill(chunk, (byte) ' ');
                    byte[] head = (Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII);
                    write(out, "6\r\n{\"a\":[\r\n");
                    while (true) {
                        write(out, head);
                        write(out, chunk);
                        write(out, "\r\n".getBytes(StandardCharsets.US_ASCII));
                    }
                }
                case TRICKLE_BODY -> {
                    write(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n");
                    while (true) {
                        write(out, " ");
                        Thread.sleep(50);
                    }
                }
                case TRICKLE_HEADERS -> {
                    for (byte b : "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: ".getBytes(StandardCharsets.US_ASCII)) {
                        write(out, new byte[]{b});
                        Thread.sleep(50);
                    }
                    while (true) {
                        write(out, "a");
                        Thread.sleep(50);
                    }
                }
                case HUGE_JSON, HUGE_CHUNKED_JSON -> {
                    int size = 50_000_000;
                    String prefix = "{\"choices\":[{\"message\":{\"content\":\"";
                    String suffix = "\"}}]}";
                    boolean chunked = behaviour == Behaviour.HUGE_CHUNKED_JSON;
                    write(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            + (chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + size + "\r\n") + "\r\n");
                    byte[] fill = new byte[1 << 16];
                    java.util.Arrays.fill(fill, (byte) 'x');
                    long body = size - prefix.length() - suffix.length();
                    sendPart(out, prefix.getBytes(StandardCharsets.US_ASCII), chunked);
                    for (long done = 0; done < body; done += fill.length) {
                        sendPart(out, java.util.Arrays.copyOf(fill, (int) Math.min(fill.length, body - done)), chunked);
                    }
                    sendPart(out, suffix.getBytes(StandardCharsets.US_ASCII), chunked);
                    if (chunked) {
                        write(out, "0\r\n\r\n");
                    }
                }
                case ECHO_AUTHORIZATION -> {
                    String body = "{\"error\": \"invalid credentials: Authorization: " + authorization + "\"}";
                    write(out, "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: " + body.length()
                            + "\r\nConnection: close\r\n\r\n" + body);
                }
                case ANSWER_WITH_AUTHORIZATION -> {
                    String body = "{\"choices\":[{\"message\":{\"content\":\"you sent " + authorization + "\"}}]}";
                    write(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + body.length()
                            + "\r\nConnection: close\r\n\r\n" + body);
                }
                case REDIRECT -> {
                    if (request.startsWith("POST /elsewhere")) {
                        redirectedRequests.incrementAndGet();
                    }
                    write(out, "HTTP/1.1 307 Temporary Redirect\r\nLocation: " + baseUrl().replace("/v1", "/elsewhere")
                            + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                }
            }
        } catch (IOException e) {
            closedAt.compareAndSet(0, System.nanoTime());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void sendPart(OutputStream out, byte[] part, boolean chunked) throws IOException {
        if (chunked) {
            write(out, Integer.toHexString(part.length) + "\r\n");
            write(out, part);
            write(out, "\r\n");
        } else {
            write(out, part);
        }
    }

    private void write(OutputStream out, String s) throws IOException {
        write(out, s.getBytes(StandardCharsets.ISO_8859_1));
    }

    private void write(OutputStream out, byte[] b) throws IOException {
        out.write(b);
        out.flush();
        bytesSent.addAndGet(b.length);
    }

    /** The request line, headers and body (by its Content-Length). */
    private static String readRequest(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                return head.toString();
            }
            head.append((char) c);
        }
        String length = header(head.toString(), "content-length");
        if (length != null) {
            in.readNBytes(Integer.parseInt(length.strip()));
        }
        return head.toString();
    }

    private static String header(String head, String name) {
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
                return line.substring(colon + 1).trim();
            }
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        socket.close();
        executor.shutdownNow();
    }
}
