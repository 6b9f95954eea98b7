package dev.rewind.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The answers Jetty makes itself, before a request reaches {@link OpenAiHandler} (a malformed request line,
 * header or {@code Content-Length}, bad chunked encoding, headers or a URI over Jetty's limits, an HTTP
 * version other than 1.0/1.1), written as OpenAI error objects like every other refusal instead of Jetty's
 * HTML page: {@code {"error": {"message", "type", "param": null, "code"}}}, the code the status's reason
 * ({@code bad_request}, {@code request_header_fields_too_large} ...).
 */
final class JsonErrorHandler extends ErrorHandler {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpField CONTENT_TYPE = new HttpField(HttpHeader.CONTENT_TYPE, "application/json");

    /** The error object's bytes for {@code status}, saying {@code message} (Jetty's own words) or the status's reason. */
    static byte[] body(int status, String message) {
        String reason = HttpStatus.getMessage(status);
        ObjectNode root = JSON.createObjectNode();
        ObjectNode error = root.putObject("error");
        error.put("message", message == null || message.isBlank() ? reason : message);
        error.put("type", status >= 500 ? "server_error" : "invalid_request_error");
        error.putNull("param");
        error.put("code", reason.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9]+", "_"));
        return root.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause, Callback callback) {
        response.getHeaders().put(CONTENT_TYPE);
        response.write(true, ByteBuffer.wrap(body(code, message)), callback);
    }

    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(CONTENT_TYPE);
        return ByteBuffer.wrap(body(status, reason));
    }
}
