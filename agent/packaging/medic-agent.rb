# Homebrew formula for medic-agent (not built here: see docs/agent.md, "Other targets").
# Builds from source with Homebrew's Rust; on macOS the agent runs as a launchd service.
class MedicAgent < Formula
  desc "Runs registered remediation scripts for Medic playbooks"
  homepage "https://github.com/medic/medic"
  url "https://github.com/medic/medic/archive/refs/tags/agent-v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "MIT"

  depends_on "rust" => :build

  def install
    cd "agent" do
      # Homebrew builds against crates.io, not Debian's registry.
      rm ".cargo/config.toml"
      system "cargo", "install", *std_cargo_args
    end
    (etc/"medic-agent/scripts.d").mkpath
    (etc/"medic-agent").install "agent/packaging/agent.env" unless (etc/"medic-agent/agent.env").exist?
  end

  service do
    run [opt_bin/"medic-agent", "run"]
    environment_variables MEDIC_AGENT_SCRIPTS_DIR: etc/"medic-agent/scripts.d",
                          MEDIC_AGENT_KEY_FILE:    etc/"medic-agent/key"
    keep_alive true
    log_path var/"log/medic-agent.log"
    error_log_path var/"log/medic-agent.log"
  end

  test do
    assert_match "medic-agent #{version}", shell_output("#{bin}/medic-agent --version")
  end
end
