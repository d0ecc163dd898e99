-- Member account mapping: which Salesforce user acts for which member of a tenant.

-- Written by the product.
CREATE TABLE tenant_members (
    tenant_id text NOT NULL,
    member_id text NOT NULL,
    email text NULL,
    saml_name_id text NULL,
    PRIMARY KEY (tenant_id, member_id)
);

-- Written by the daemon (automatic mappings) and by the command line (manual ones).
CREATE TABLE member_mappings (
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    member_id text NOT NULL,
    salesforce_user_id text NOT NULL,
    salesforce_username text NOT NULL,
    method text NOT NULL
        CONSTRAINT member_mappings_method_check
        CHECK (method IN ('email', 'saml_name_id', 'manual')),
    mapped_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, member_id)
);
