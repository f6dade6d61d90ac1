package mx.prep.difusor.memoria;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The addresses of the institute's availability checks (difusor.memoria.monitor-addresses): single addresses or blocks
 * ({@code 200.23.8.0/24}, {@code 2001:db8::/32}). The call has the institute GET the portal all night; its checker's
 * User-Agent is not known beforehand and may look like a browser's, so its address is what tells it from a person.
 */
final class MonitorAddresses {

    /**
     * An IP literal: never a host name, which would be looked up in DNS at every line; an IPv4 one in its four parts
     * ({@code 200.23.8/24} is 200.23.0.8/24 to Java, a block that leaves the checker at 200.23.8.14 counted as a person).
     */
    private static final Pattern LITERAL = Pattern.compile("[0-9]{1,3}(?:\\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

    private record Block(byte[] network, int bits) {

        boolean contains(byte[] address) {
            if (address.length != network.length) {
                return false;
            }
            int whole = bits / 8;
            for (int i = 0; i < whole; i++) {
                if (address[i] != network[i]) {
                    return false;
                }
            }
            int rest = bits % 8;
            return rest == 0 || ((address[whole] ^ network[whole]) & (0xFF << (8 - rest)) & 0xFF) == 0;
        }
    }

    static final MonitorAddresses NONE = new MonitorAddresses(List.of(), List.of());

    private final List<Block> blocks;
    private final List<String> written;

    private MonitorAddresses(List<Block> blocks, List<String> written) {
        this.blocks = blocks;
        this.written = written;
    }

    /** @throws IllegalArgumentException naming the entry that is no address or block */
    static MonitorAddresses of(List<String> entries) {
        List<Block> blocks = new ArrayList<>();
        List<String> written = new ArrayList<>();
        for (String entry : entries) {
            String e = entry.strip();
            if (e.isEmpty()) {
                continue;
            }
            int slash = e.indexOf('/');
            String address = slash < 0 ? e : e.substring(0, slash);
            byte[] network = parse(address);
            if (network == null) {
                throw new IllegalArgumentException("difusor.memoria.monitor-addresses: '" + e + "' is no IP address or block (a.b.c.d, a.b.c.d/n, x:y::/n)");
            }
            int bits;
            try {
                bits = slash < 0 ? network.length * 8 : Integer.parseInt(e.substring(slash + 1));
            } catch (NumberFormatException nf) {
                bits = -1;
            }
            if (bits < 0 || bits > network.length * 8) {
                throw new IllegalArgumentException("difusor.memoria.monitor-addresses: '" + e + "' has no prefix length of 0 to " + network.length * 8);
            }
            blocks.add(new Block(network, bits));
            written.add(e);
        }
        return new MonitorAddresses(List.copyOf(blocks), List.copyOf(written));
    }

    /** The entries as configured, for the report. */
    List<String> written() {
        return written;
    }

    boolean contains(String clientIp) {
        if (blocks.isEmpty() || clientIp == null) {
            return false;
        }
        byte[] address = parse(clientIp);
        return address != null && blocks.stream().anyMatch(b -> b.contains(address));
    }

    private static byte[] parse(String literal) {
        if (!LITERAL.matcher(literal).matches()) {
            return null;
        }
        try {
            return InetAddress.getByName(literal).getAddress();
        } catch (UnknownHostException | SecurityException e) {
            return null;
        }
    }
}
