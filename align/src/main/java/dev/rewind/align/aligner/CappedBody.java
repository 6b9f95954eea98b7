package dev.rewind.align.aligner;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * A response body collected into memory up to a cap: past {@code maxBytes} (or when the
 * {@code Content-Length} already says so) the subscription is cancelled, which closes the connection,
 * and the body completes with {@link TooLarge}. So a server that streams without end costs at most the
 * cap, never the heap. {@link #cancel} stops it from outside (when the caller's deadline passes).
 */
final class CappedBody implements HttpResponse.BodySubscriber<byte[]> {

    /** The reply was larger than the cap. */
    static final class TooLarge extends IOException {
        TooLarge(long maxBytes) {
            super("the reply is larger than " + maxBytes + " bytes");
        }
    }

    private final long maxBytes;
    private final boolean refuseAtOnce;
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final CompletableFuture<byte[]> body = new CompletableFuture<>();
    private Flow.Subscription subscription;
    private boolean cancelled;

    /**
     * @param declaredLength the Content-Length of the response, or -1
     */
    CappedBody(long maxBytes, long declaredLength) {
        this.maxBytes = maxBytes;
        this.refuseAtOnce = declaredLength > maxBytes;
    }

    @Override
    public synchronized void onSubscribe(Flow.Subscription s) {
        subscription = s;
        if (cancelled || refuseAtOnce) {
            s.cancel();
            body.completeExceptionally(new TooLarge(maxBytes));
            return;
        }
        s.request(1);
    }

    @Override
    public synchronized void onNext(List<ByteBuffer> buffers) {
        if (body.isDone()) {
            return;
        }
        for (ByteBuffer b : buffers) {
            if (bytes.size() + (long) b.remaining() > maxBytes) {
                subscription.cancel();
                body.completeExceptionally(new TooLarge(maxBytes));
                return;
            }
            byte[] chunk = new byte[b.remaining()];
            b.get(chunk);
            bytes.writeBytes(chunk);
        }
        subscription.request(1);
    }

    @Override
    public synchronized void onError(Throwable t) {
        body.completeExceptionally(t);
    }

    @Override
    public synchronized void onComplete() {
        body.complete(bytes.toByteArray());
    }

    @Override
    public CompletionStage<byte[]> getBody() {
        return body;
    }

    /** Stops reading: the connection is closed and the body never completes normally. */
    synchronized void cancel() {
        cancelled = true;
        if (subscription != null) {
            subscription.cancel();
        }
        body.completeExceptionally(new IOException("cancelled"));
    }
}
