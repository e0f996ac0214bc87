; Inno Setup script for the Windows installer (build the bundle first: packaging/build.sh on Windows, or the
; CI workflow .github/workflows/package.yml). Compile with:  iscc packaging\windows\aigc-studio.iss
; Installs per user (no admin rights needed), adds Start menu and optional desktop shortcuts, and an uninstaller.
; User projects, settings and logs live outside the install folder and are kept on uninstall.
#define AppVersion GetEnv("AIGC_VERSION")
#if AppVersion == ""
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{4836D27F-5CDC-46D0-B6A5-759607BE6F9A}
AppName=AIGC Studio
AppVersion={#AppVersion}
AppPublisher=AIGC Studio developers
DefaultDirName={localappdata}\Programs\AIGC Studio
DefaultGroupName=AIGC Studio
PrivilegesRequired=lowest
OutputDir=..\..\dist
OutputBaseFilename=aigc-studio-{#AppVersion}-windows-x64-setup
SetupIconFile=aigc-studio.ico
Compression=lzma2/ultra64
SolidCompression=yes
DiskSpanning=yes
ArchitecturesInstallIn64BitMode=x64compatible
WizardStyle=modern
LicenseFile=..\..\LICENSE

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Files]
Source: "..\..\dist\aigc-studio\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion

[Icons]
Name: "{group}\AIGC Studio"; Filename: "{app}\AIGC Studio.exe"
Name: "{group}\Uninstall AIGC Studio"; Filename: "{uninstallexe}"
Name: "{autodesktop}\AIGC Studio"; Filename: "{app}\AIGC Studio.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\AIGC Studio.exe"; Description: "Open AIGC Studio"; Flags: nowait postinstall skipifsilent
