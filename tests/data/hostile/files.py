    import os, shutil
    hits = []
    for victim in ["@VICTIM@", "@ETC@"]:
        for attempt in (lambda: os.remove(victim), lambda: open(victim, "w").write("pwned"),
                        lambda: os.rename(victim, victim + ".moved")):
            try:
                attempt()
                hits.append(victim)
            except OSError:
                pass
    for new in ["@ETC@.new", "@VICTIM@.new", "/root/parrot-hostile-@MARK@", "/var/tmp/parrot-hostile-@MARK@",
                "/dev/shm/parrot-hostile-@MARK@", "/tmp/../etc/parrot-hostile-@MARK@"]:
        try:
            with open(new, "w") as f:
                f.write("pwned")
            hits.append(new)
        except OSError:
            pass
    try:
        shutil.rmtree(os.path.dirname("@VICTIM@"))
        hits.append("rmtree")
    except OSError:
        pass
    raise RuntimeError("files touched: %r" % hits)
