package mx.prep.difusor.source;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A checksum file or a manifest as text. Windows PowerShell 5.1 writes {@code sha256sum}'s line with {@code >} or
 * {@code Out-File} as UTF-16 with a byte-order mark: read as UTF-8 it was not text, and every corte was refused (a
 * folder or a bucket) or every poll failed (a fixed URL). The byte-order mark says which encoding the file is in;
 * without one it must be UTF-8 (ASCII is).
 */
public final class InstituteText {

    private InstituteText() {
    }

    /**
     * @return the text without its byte-order mark
     * @throws CharacterCodingException when the bytes are not text in the encoding their byte-order mark (or its
     *         absence: UTF-8) names
     */
    public static String decode(byte[] bytes) throws CharacterCodingException {
        if (startsWith(bytes, 0xEF, 0xBB, 0xBF)) {
            return strict(StandardCharsets.UTF_8, bytes, 3);
        }
        if (startsWith(bytes, 0xFF, 0xFE)) {
            return strict(StandardCharsets.UTF_16LE, bytes, 2);
        }
        if (startsWith(bytes, 0xFE, 0xFF)) {
            return strict(StandardCharsets.UTF_16BE, bytes, 2);
        }
        return strict(StandardCharsets.UTF_8, bytes, 0);
    }

    private static String strict(Charset charset, byte[] bytes, int from) throws CharacterCodingException {
        return charset.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes, from, bytes.length - from)).toString();
    }

    private static boolean startsWith(byte[] bytes, int... prefix) {
        if (bytes.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if ((bytes[i] & 0xFF) != prefix[i]) {
                return false;
            }
        }
        return true;
    }
}
