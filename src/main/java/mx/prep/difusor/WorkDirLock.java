package mx.prep.difusor;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.apache.camel.support.service.ServiceSupport;

/**
 * One process per work dir. At start a process deletes the downloads cut short and sets aside whatever is in the
 * spool, taking them for an earlier process's: a second process on the same folder (two difusors on one host with the
 * default work dir) would delete the first one's download and take its spooled package. Held until the context stops.
 */
public final class WorkDirLock extends ServiceSupport {

    private final FileChannel channel;
    private final FileLock lock;

    private WorkDirLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    public static WorkDirLock take(Path workDir) throws IOException {
        Files.createDirectories(workDir);
        Path file = workDir.resolve(".lock");
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException inThisJvm) {
            lock = null;
        }
        if (lock == null) {
            channel.close();
            throw new IllegalStateException("another prep-difusor uses the work dir " + workDir + " (" + file + " is locked): give each "
                    + "process its own difusor.work-dir, or two processes delete and take each other's downloads");
        }
        return new WorkDirLock(channel, lock);
    }

    @Override
    protected void doStop() throws Exception {
        release();
    }

    /** Also for a start that fails after the lock was taken. */
    public void release() throws IOException {
        if (channel.isOpen()) {
            lock.release();
            channel.close();
        }
    }
}
